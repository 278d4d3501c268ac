{{ config(alias='invoice_line_lineage') }}

{#-
    An invoice line's rated records with their numbers and raw file and record (the
    auditors' lineage, docs/lineage.md), as `telcolake call-detail --invoice-line` reads it.
-#}
with

invoice_line_lineage as (

    select * from {{ ref('fct_invoice_line_lineage') }}

),

final as (

    select
        lineage_id,
        invoice_line_id,
        invoice_id,
        line_key,
        billing_period,
        account_id,
        subscriber_id,
        line_type,
        category,
        tax_id,
        line_amount_micros,
        lineage_source,
        usage_id,
        rated_charge_micros,
        rating_status,
        service,
        served_msisdn,
        other_party_number,
        started_at,
        duration_seconds,
        data_volume_bytes,
        feed,
        switch_id,
        file_id,
        file_name,
        record_number,
        file_date,
        session_key,
        partial_records,
        aggregate_plan_id,
        aggregate_offer_effective_from
    from invoice_line_lineage

)

select * from final
