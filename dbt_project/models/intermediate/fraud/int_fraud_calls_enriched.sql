{#-
    Every voice record of the period with what the fraud detectors judge it by: the
    operator-local date and hour (off-hours, weekends and holidays are local), the line's
    account class, whether the far end is a premium range, its calling range, and the
    termination cost we owe the carrier for it (the rated outbound interconnect leg; 0
    when no leg is rated).
-#}
{%- set fraud = var('fraud') -%}
with

rated_usage_records as (

    select * from {{ ref('stg_lake__rated_usage_records') }}

),

interconnect_legs as (

    select * from {{ ref('stg_lake__interconnect_legs') }}

),

subscribers as (

    select * from {{ ref('stg_reference__subscribers') }}

),

accounts as (

    select * from {{ ref('stg_reference__accounts') }}

),

holidays as (

    select distinct holiday_date from {{ ref('stg_reference__holidays') }}

),

termination_costs as (

    select
        usage_id,
        sum(amount_micros) as termination_cost_micros
    from interconnect_legs
    where leg_direction = 'outbound' and rating_status = 'rated'
    group by usage_id

),

localised as (

    select
        rated_usage_records.*,
        timezone('{{ var("operator_timezone") }}', rated_usage_records.started_at)
            as started_local
    from rated_usage_records
    where rated_usage_records.service = 'voice'

),

final as (

    select
        localised.usage_id,
        localised.billing_period,
        localised.file_name,
        localised.record_number,
        localised.switch_id,
        localised.direction,
        localised.is_answered,
        localised.served_msisdn,
        localised.served_imsi,
        localised.served_imei,
        localised.subscriber_id,
        localised.account_id,
        subscribers.service_type,
        accounts.account_class,
        localised.other_party_number,
        localised.destination_prefix,
        localised.destination_group,
        localised.cell_id,
        localised.started_at,
        localised.ended_at,
        localised.duration_seconds,
        epoch(localised.ended_at) - epoch(localised.started_at) as elapsed_seconds,
        localised.charge_micros,
        cast(localised.started_local as date) as local_date,
        hour(localised.started_local) as local_hour,
        left(
            localised.other_party_number,
            length(localised.other_party_number) - {{ fraud['wangiri_range_drop_digits'] }}
        ) as calling_range,
        coalesce(termination_costs.termination_cost_micros, 0) as termination_cost_micros,
        (
            localised.destination_group = 'premium'
            or localised.other_party_number_type in (
                {%- for number_type in fraud['irsf_number_types'] -%}
                    '{{ number_type }}'{{ ", " if not loop.last }}
                {%- endfor -%}
            )
            or regexp_matches(
                localised.other_party_number,
                '^({{ fraud["irsf_premium_prefixes"] | join("|") }})'
            )
        ) as is_premium_range,
        (
            localised.destination_group in ('international', 'premium')
            or (
                localised.other_party_number is not null
                and not starts_with(localised.other_party_number, '1')
                and length(localised.other_party_number) > 7
            )
        ) as is_international,
        (
            hour(localised.started_local) < {{ fraud['business_hours_start'] }}
            or hour(localised.started_local) >= {{ fraud['business_hours_end'] }}
            or isodow(localised.started_local) >= 6
            or holidays.holiday_date is not null
        ) as is_off_hours
    from localised
    left join termination_costs on localised.usage_id = termination_costs.usage_id
    left join subscribers on localised.subscriber_id = subscribers.subscriber_id
    left join accounts on localised.account_id = accounts.account_id
    left join holidays on cast(localised.started_local as date) = holidays.holiday_date

)

select * from final
