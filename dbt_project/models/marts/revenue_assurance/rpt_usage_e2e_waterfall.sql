{#-
    The end-to-end reconciliation of each billing period as a waterfall (long format, for
    the RA report's chart): levels (switch_files, mediated, rated, billed) and between them
    the gaps that explain each drop, by reason, in step_order. Each level is the level
    before it less the gaps between them (tested). Rejected and duplicate records have no
    seconds or bytes (null): nothing of them was parsed or kept, so the switch_files level
    carries the seconds and bytes of the records mediation accepted.

    Each step: (step, kind, reason, records, seconds, bytes), the last three naming the
    columns of rpt_usage_e2e_reconciliation summed over the period (none: null, not
    measured).
-#}
{%- set steps = [
    ('switch_files', 'level', none, 'switch_records', 'mediated_seconds', 'mediated_bytes'),
    ('mediation', 'gap', 'rejected', 'rejected_records', none, none),
    ('mediation', 'gap', 'duplicate_record', 'duplicate_records', none, none),
    ('mediation', 'gap', 'duplicate_file', 'duplicate_file_records', none, none),
    ('mediated', 'level', none, 'mediated_records', 'mediated_seconds', 'mediated_bytes'),
    ('consolidation', 'gap', 'repeated', 'repeated_records', 'repeated_seconds', 'repeated_bytes'),
    ('consolidation', 'gap', 'held', 'held_records', 'held_seconds', 'held_bytes'),
    ('consolidation', 'gap', 'awaiting_correlation', 'awaiting_correlation_records',
        'awaiting_correlation_seconds', 'awaiting_correlation_bytes'),
    ('consolidation', 'gap', 'merged_into_session', 'merged_into_session_records',
        'merged_into_session_seconds', 'merged_into_session_bytes'),
    ('rating', 'gap', 'awaiting_rating', 'awaiting_rating_records', 'awaiting_rating_seconds',
        'awaiting_rating_bytes'),
    ('rating', 'gap', 'unexplained', 'untraced_records', none, none),
    ('rated', 'level', none, 'rated_records', 'rated_seconds', 'rated_bytes'),
    ('rated_outcome', 'gap', 'zero_rated', 'zero_rated_records', 'zero_rated_seconds',
        'zero_rated_bytes'),
    ('rated_outcome', 'gap', 'not_billable', 'not_billable_records', 'not_billable_seconds',
        'not_billable_bytes'),
    ('rated_outcome', 'gap', 'suspense', 'suspense_records', 'suspense_seconds',
        'suspense_bytes'),
    ('billing', 'gap', 'awaiting_invoice', 'awaiting_invoice_records',
        'awaiting_invoice_seconds', 'awaiting_invoice_bytes'),
    ('billing', 'gap', 'unexplained', 'not_invoiced_records', 'not_invoiced_seconds',
        'not_invoiced_bytes'),
    ('billed', 'level', none, 'billed_records', 'billed_seconds', 'billed_bytes'),
] -%}
with

reconciliation as (

    select * from {{ ref('rpt_usage_e2e_reconciliation') }}

),

period_totals as (

    -- DuckDB's COLUMNS keeps each summed column's name.
    select
        billing_period,
        sum(columns('_(records|seconds|bytes)$'))
    from reconciliation
    group by billing_period

),

steps as (

    {%- for step, kind, reason, records, seconds, bytes in steps %}
        select
            billing_period,
            {{ loop.index }} as step_order,
            '{{ step }}' as step,
            '{{ kind }}' as kind,
            {{ "'" ~ reason ~ "'" if reason else "null" }} as reason,
            {{ records }} as records,
            {{ seconds or "null" }} as seconds,
            {{ bytes or "null" }} as bytes
        from period_totals
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}

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
