{#-
    Every usage invoice line traces completely: the rated charges of its lineage
    (fct_invoice_line_lineage), summed and rounded to the cent half away from zero as the
    bill run rounds a usage charge, are the line's amount. A usage line without lineage
    fails too.
-#}
with

usage_lines as (

    select * from {{ ref('fct_invoice_lines') }}
    where line_type = 'usage'

),

lineage as (

    select
        invoice_line_id,
        sum(rated_charge_micros) as traced_micros
    from {{ ref('fct_invoice_line_lineage') }}
    group by invoice_line_id

),

compared as (

    select
        usage_lines.invoice_line_id,
        usage_lines.billing_period,
        usage_lines.amount_micros,
        lineage.traced_micros,
        sign(lineage.traced_micros) * ((abs(lineage.traced_micros) + 5000) // 10000 * 10000)
            as traced_to_the_cent
    from usage_lines
    left join lineage
        on usage_lines.invoice_line_id = lineage.invoice_line_id

)

select * from compared
where
    traced_to_the_cent is distinct from amount_micros
    -- A period whose call detail the retention purge deleted has no lineage left.
    and billing_period not in (
        select purged.billing_period from {{ ref('int_call_detail_purged_periods') }} as purged
    )
