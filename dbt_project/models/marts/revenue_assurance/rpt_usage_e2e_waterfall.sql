{#-
    The end-to-end reconciliation of each billing period as a waterfall (long format, for
    the RA report's chart): levels (switch_files, mediated, rated, billed) and between them
    the gaps that explain each drop, by reason, in step_order. Each level is the level
    before it less the gaps between them (tested). Rejected and duplicate records have no
    seconds or bytes (null): nothing of them was parsed or kept, so the switch_files level
    carries the seconds and bytes of the records mediation accepted.
-#}
with

reconciliation as (

    select * from {{ ref('rpt_usage_e2e_reconciliation') }}

),

period_totals as (

    select
        billing_period,
        sum(awaiting_correlation_bytes) as awaiting_correlation_bytes,
        sum(awaiting_correlation_records) as awaiting_correlation_records,
        sum(awaiting_correlation_seconds) as awaiting_correlation_seconds,
        sum(awaiting_invoice_bytes) as awaiting_invoice_bytes,
        sum(awaiting_invoice_records) as awaiting_invoice_records,
        sum(awaiting_invoice_seconds) as awaiting_invoice_seconds,
        sum(awaiting_rating_bytes) as awaiting_rating_bytes,
        sum(awaiting_rating_records) as awaiting_rating_records,
        sum(awaiting_rating_seconds) as awaiting_rating_seconds,
        sum(billed_bytes) as billed_bytes,
        sum(billed_records) as billed_records,
        sum(billed_seconds) as billed_seconds,
        sum(duplicate_file_records) as duplicate_file_records,
        sum(duplicate_records) as duplicate_records,
        sum(held_bytes) as held_bytes,
        sum(held_records) as held_records,
        sum(held_seconds) as held_seconds,
        sum(mediated_bytes) as mediated_bytes,
        sum(mediated_records) as mediated_records,
        sum(mediated_seconds) as mediated_seconds,
        sum(merged_into_session_bytes) as merged_into_session_bytes,
        sum(merged_into_session_records) as merged_into_session_records,
        sum(merged_into_session_seconds) as merged_into_session_seconds,
        sum(not_billable_bytes) as not_billable_bytes,
        sum(not_billable_records) as not_billable_records,
        sum(not_billable_seconds) as not_billable_seconds,
        sum(not_invoiced_bytes) as not_invoiced_bytes,
        sum(not_invoiced_records) as not_invoiced_records,
        sum(not_invoiced_seconds) as not_invoiced_seconds,
        sum(rated_bytes) as rated_bytes,
        sum(rated_records) as rated_records,
        sum(rated_seconds) as rated_seconds,
        sum(rejected_records) as rejected_records,
        sum(repeated_bytes) as repeated_bytes,
        sum(repeated_records) as repeated_records,
        sum(repeated_seconds) as repeated_seconds,
        sum(suspense_bytes) as suspense_bytes,
        sum(suspense_records) as suspense_records,
        sum(suspense_seconds) as suspense_seconds,
        sum(switch_records) as switch_records,
        sum(untraced_records) as untraced_records,
        sum(zero_rated_bytes) as zero_rated_bytes,
        sum(zero_rated_records) as zero_rated_records,
        sum(zero_rated_seconds) as zero_rated_seconds
    from reconciliation
    group by billing_period

),

steps as (

    select
        billing_period,
        1 as step_order,
        'switch_files' as step,
        'level' as kind,
        null as reason,
        switch_records as records,
        mediated_seconds as seconds,
        mediated_bytes as bytes
    from period_totals
    union all
    select
        billing_period,
        2 as step_order,
        'mediation' as step,
        'gap' as kind,
        'rejected' as reason,
        rejected_records as records,
        null as seconds,
        null as bytes
    from period_totals
    union all
    select
        billing_period,
        3 as step_order,
        'mediation' as step,
        'gap' as kind,
        'duplicate_record' as reason,
        duplicate_records as records,
        null as seconds,
        null as bytes
    from period_totals
    union all
    select
        billing_period,
        4 as step_order,
        'mediation' as step,
        'gap' as kind,
        'duplicate_file' as reason,
        duplicate_file_records as records,
        null as seconds,
        null as bytes
    from period_totals
    union all
    select
        billing_period,
        5 as step_order,
        'mediated' as step,
        'level' as kind,
        null as reason,
        mediated_records as records,
        mediated_seconds as seconds,
        mediated_bytes as bytes
    from period_totals
    union all
    select
        billing_period,
        6 as step_order,
        'consolidation' as step,
        'gap' as kind,
        'repeated' as reason,
        repeated_records as records,
        repeated_seconds as seconds,
        repeated_bytes as bytes
    from period_totals
    union all
    select
        billing_period,
        7 as step_order,
        'consolidation' as step,
        'gap' as kind,
        'held' as reason,
        held_records as records,
        held_seconds as seconds,
        held_bytes as bytes
    from period_totals
    union all
    select
        billing_period,
        8 as step_order,
        'consolidation' as step,
        'gap' as kind,
        'awaiting_correlation' as reason,
        awaiting_correlation_records as records,
        awaiting_correlation_seconds as seconds,
        awaiting_correlation_bytes as bytes
    from period_totals
    union all
    select
        billing_period,
        9 as step_order,
        'consolidation' as step,
        'gap' as kind,
        'merged_into_session' as reason,
        merged_into_session_records as records,
        merged_into_session_seconds as seconds,
        merged_into_session_bytes as bytes
    from period_totals
    union all
    select
        billing_period,
        10 as step_order,
        'rating' as step,
        'gap' as kind,
        'awaiting_rating' as reason,
        awaiting_rating_records as records,
        awaiting_rating_seconds as seconds,
        awaiting_rating_bytes as bytes
    from period_totals
    union all
    select
        billing_period,
        11 as step_order,
        'rating' as step,
        'gap' as kind,
        'unexplained' as reason,
        untraced_records as records,
        null as seconds,
        null as bytes
    from period_totals
    union all
    select
        billing_period,
        12 as step_order,
        'rated' as step,
        'level' as kind,
        null as reason,
        rated_records as records,
        rated_seconds as seconds,
        rated_bytes as bytes
    from period_totals
    union all
    select
        billing_period,
        13 as step_order,
        'rated_outcome' as step,
        'gap' as kind,
        'zero_rated' as reason,
        zero_rated_records as records,
        zero_rated_seconds as seconds,
        zero_rated_bytes as bytes
    from period_totals
    union all
    select
        billing_period,
        14 as step_order,
        'rated_outcome' as step,
        'gap' as kind,
        'not_billable' as reason,
        not_billable_records as records,
        not_billable_seconds as seconds,
        not_billable_bytes as bytes
    from period_totals
    union all
    select
        billing_period,
        15 as step_order,
        'rated_outcome' as step,
        'gap' as kind,
        'suspense' as reason,
        suspense_records as records,
        suspense_seconds as seconds,
        suspense_bytes as bytes
    from period_totals
    union all
    select
        billing_period,
        16 as step_order,
        'billing' as step,
        'gap' as kind,
        'awaiting_invoice' as reason,
        awaiting_invoice_records as records,
        awaiting_invoice_seconds as seconds,
        awaiting_invoice_bytes as bytes
    from period_totals
    union all
    select
        billing_period,
        17 as step_order,
        'billing' as step,
        'gap' as kind,
        'unexplained' as reason,
        not_invoiced_records as records,
        not_invoiced_seconds as seconds,
        not_invoiced_bytes as bytes
    from period_totals
    union all
    select
        billing_period,
        18 as step_order,
        'billed' as step,
        'level' as kind,
        null as reason,
        billed_records as records,
        billed_seconds as seconds,
        billed_bytes as bytes
    from period_totals

),

final as (

    select
        billing_period,
        cast(step_order as integer) as step_order,
        cast(step as varchar) as step,
        cast(kind as varchar) as kind,
        cast(reason as varchar) as reason,
        cast(records as bigint) as records,
        cast(seconds as bigint) as seconds,
        cast(bytes as bigint) as bytes
    from steps

)

select * from final
