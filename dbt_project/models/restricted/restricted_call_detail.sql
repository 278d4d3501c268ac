{{ config(alias='call_detail') }}

{#-
    Raw call detail: every rated usage record with the numbers, IMSI, IMEI and cell of the
    subscriber, as the switch recorded them. Read through `telcolake call-detail`, which logs
    each access (docs/privacy.md); never copied to the analyst store.
-#}
with

rated_usage_records as (

    select * from {{ ref('stg_lake__rated_usage_records') }}

),

final as (

    select
        usage_id,
        billing_period,
        event_date,
        subscriber_id,
        account_id,
        record_type,
        service,
        direction,
        served_msisdn,
        served_imsi,
        served_imei,
        other_party_number,
        other_party_region,
        started_at,
        answered_at,
        ended_at,
        duration_seconds,
        data_volume_bytes,
        cell_id,
        destination_name,
        rating_status,
        charge_micros,
        feed,
        switch_id,
        file_name,
        record_number
    from rated_usage_records

)

select * from final
