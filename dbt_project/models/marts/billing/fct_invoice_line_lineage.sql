{#-
    Lineage of every invoice line (docs/lineage.md). A usage line is one usage charge of the
    bill run: one row per rated record it bills, with the record's raw file and record
    number (a session's: its first partial's, and every partial in partial_records), and
    one per aggregate-priced charge it adds; rated_charge_micros is what each brought to
    the charge as the invoice was issued (lake `billed_charge_usage`). Every other line
    (recurring, one-time, equipment, late fee, credit, tax) is one row naming the rows it
    comes from: its `billed_charges` row (charge_id = line_key), or for a tax line the
    account's `tax_lines` rows of its tax_id.
-#}
with

invoice_lines as (

    select * from {{ ref('fct_invoice_lines') }}

),

issued_charge_usage as (

    select * from {{ ref('int_e2e_issued_charge_usage') }}

),

rated_usage_records as (

    select * from {{ ref('stg_lake__rated_usage_records') }}

),

session_partials as (

    select * from {{ ref('int_session_partials_unnested') }}

),

usage_records as (

    select * from {{ ref('stg_lake__usage_records') }}

),

lines_keyed as (

    select
        *,
        substr(invoice_line_id, length(invoice_id) + 2) as line_key
    from invoice_lines

),

partial_records as (

    select
        session_partials.session_usage_id,
        session_partials.billing_period,
        cast(
            to_json(
                list(
                    json_object(
                        'file_name', usage_records.file_name,
                        'record_number', usage_records.record_number,
                        'partial_sequence', usage_records.partial_sequence
                    )
                    order by
                        usage_records.started_at,
                        usage_records.file_name,
                        usage_records.record_number
                )
            ) as varchar
        ) as partial_records
    from session_partials
    inner join usage_records
        on session_partials.partial_usage_id = usage_records.usage_id
    group by session_partials.session_usage_id, session_partials.billing_period

),

usage_lineage as (

    select
        lines_keyed.invoice_line_id,
        issued_charge_usage.link_source as lineage_source,
        issued_charge_usage.usage_id,
        issued_charge_usage.charge_micros as rated_charge_micros,
        rated_usage_records.rating_status,
        issued_charge_usage.service,
        rated_usage_records.served_msisdn,
        rated_usage_records.other_party_number,
        rated_usage_records.started_at,
        rated_usage_records.duration_seconds,
        rated_usage_records.data_volume_bytes,
        rated_usage_records.feed,
        rated_usage_records.switch_id,
        rated_usage_records.file_id,
        rated_usage_records.file_name,
        rated_usage_records.record_number,
        rated_usage_records.file_date,
        rated_usage_records.session_key,
        partial_records.partial_records,
        issued_charge_usage.plan_id as aggregate_plan_id,
        issued_charge_usage.offer_effective_from as aggregate_offer_effective_from,
        lines_keyed.invoice_line_id || '#' || coalesce(
            issued_charge_usage.usage_id,
            'aggregate/' || issued_charge_usage.plan_id || '/'
            || cast(issued_charge_usage.offer_effective_from as varchar) || '/'
            || issued_charge_usage.service
        ) as lineage_id
    from lines_keyed
    inner join issued_charge_usage
        on
            lines_keyed.billing_period = issued_charge_usage.billing_period
            and lines_keyed.line_key = issued_charge_usage.charge_id
    left join rated_usage_records
        on
            issued_charge_usage.billing_period = rated_usage_records.billing_period
            and issued_charge_usage.usage_id = rated_usage_records.usage_id
    left join partial_records
        on
            issued_charge_usage.billing_period = partial_records.billing_period
            and issued_charge_usage.usage_id = partial_records.session_usage_id
    where lines_keyed.line_type = 'usage'

),

charge_lineage as (

    select
        invoice_line_id,
        case when line_type = 'tax' then 'tax_lines' else 'billed_charges' end
            as lineage_source,
        invoice_line_id || '#' || line_key as lineage_id
    from lines_keyed
    where line_type <> 'usage'

),

unioned as (

    select * from usage_lineage
    union all by name
    select * from charge_lineage

),

final as (

    select
        unioned.lineage_id,
        lines_keyed.invoice_line_id,
        lines_keyed.invoice_id,
        lines_keyed.line_key,
        lines_keyed.billing_period,
        lines_keyed.account_id,
        lines_keyed.subscriber_id,
        lines_keyed.line_type,
        lines_keyed.category,
        lines_keyed.tax_id,
        lines_keyed.amount_micros as line_amount_micros,
        unioned.lineage_source,
        unioned.usage_id,
        cast(unioned.rated_charge_micros as bigint) as rated_charge_micros,
        unioned.rating_status,
        unioned.service,
        unioned.served_msisdn,
        unioned.other_party_number,
        unioned.started_at,
        unioned.duration_seconds,
        unioned.data_volume_bytes,
        unioned.feed,
        unioned.switch_id,
        unioned.file_id,
        unioned.file_name,
        unioned.record_number,
        unioned.file_date,
        unioned.session_key,
        unioned.partial_records,
        unioned.aggregate_plan_id,
        unioned.aggregate_offer_effective_from
    from unioned
    inner join lines_keyed
        on unioned.invoice_line_id = lines_keyed.invoice_line_id

)

select * from final
