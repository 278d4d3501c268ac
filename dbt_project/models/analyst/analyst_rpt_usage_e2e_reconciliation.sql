{{ config(alias='rpt_usage_e2e_reconciliation') }}

{#- No column names a subscriber, a number or a person: every one is kept. -#}
with

usage_e2e_reconciliation as (

    select * from {{ ref('rpt_usage_e2e_reconciliation') }}

),

final as (

    select
        billing_period,
        file_date,
        feed,
        missing_files,
        switch_records,
        rejected_records,
        duplicate_records,
        duplicate_file_records,
        mediated_records,
        mediated_seconds,
        mediated_bytes,
        repeated_records,
        repeated_seconds,
        repeated_bytes,
        held_records,
        held_seconds,
        held_bytes,
        awaiting_correlation_records,
        awaiting_correlation_seconds,
        awaiting_correlation_bytes,
        awaiting_rating_records,
        awaiting_rating_seconds,
        awaiting_rating_bytes,
        merged_into_session_records,
        merged_into_session_seconds,
        merged_into_session_bytes,
        untraced_records,
        rated_records,
        rated_seconds,
        rated_bytes,
        charged_records,
        charged_seconds,
        charged_bytes,
        zero_rated_records,
        zero_rated_seconds,
        zero_rated_bytes,
        not_billable_records,
        not_billable_seconds,
        not_billable_bytes,
        suspense_records,
        suspense_seconds,
        suspense_bytes,
        billed_records,
        billed_seconds,
        billed_bytes,
        awaiting_invoice_records,
        awaiting_invoice_seconds,
        awaiting_invoice_bytes,
        not_invoiced_records,
        not_invoiced_seconds,
        not_invoiced_bytes,
        unexplained_records,
        is_explained
    from usage_e2e_reconciliation

)

select * from final
