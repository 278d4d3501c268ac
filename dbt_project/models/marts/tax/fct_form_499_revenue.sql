{#-
    The revenue lines of FCC Forms 499-Q and 499-A, per billing period and charge category:
    end-user revenue split into intrastate, interstate and international (the interstate
    share is the category's safe harbor, or the call's class for classified voice), and the
    USF contribution the operator owes on it: the quarter's contribution factor times the
    interstate and international end-user telecommunications revenue, rounded half-up to
    the micro-unit. usf_billed_micros is what the USF line items recovered from customers on
    these charges; it may not exceed the contribution base times the factor (tested per
    invoice, see assert_usf_line_item_within_cap). Internet access, video, equipment and
    late fees are not telecommunications revenue: they are reported, not assessed.
-#}
with

billed_charges as (

    select * from {{ ref('stg_lake__billed_charges') }}

),

tax_lines as (

    select * from {{ ref('stg_lake__tax_lines') }}

),

usf_factors as (

    select * from {{ ref('stg_reference__usf_factors') }}

),

usf_billed as (

    select
        billing_period,
        charge_id,
        sum(tax_micros) as usf_billed_micros
    from tax_lines
    where tax_type = 'usf' and is_billable
    group by billing_period, charge_id

),

classified as (

    select
        billed_charges.billing_period,
        {{ billing_period_quarter('billed_charges.billing_period') }} as filing_quarter,
        billed_charges.category,
        billed_charges.category not in (
            'internet_access', 'video_service', 'equipment_sale', 'equipment_rental', 'late_fee'
        ) as is_telecommunications,
        billed_charges.amount_micros,
        case
            when billed_charges.category = 'international_voice' then 0
            else billed_charges.interstate_micros
        end as interstate_micros,
        case
            when billed_charges.category = 'international_voice'
                then billed_charges.interstate_micros
            else 0
        end as international_micros,
        coalesce(usf_billed.usf_billed_micros, 0) as usf_billed_micros
    from billed_charges
    left join usf_billed
        on
            billed_charges.billing_period = usf_billed.billing_period
            and billed_charges.charge_id = usf_billed.charge_id

),

summed as (

    select
        billing_period,
        filing_quarter,
        category,
        is_telecommunications,
        count(*) as charge_count,
        sum(amount_micros) as end_user_revenue_micros,
        sum(interstate_micros) as interstate_micros,
        sum(international_micros) as international_micros,
        sum(usf_billed_micros) as usf_billed_micros
    from classified
    group by billing_period, filing_quarter, category, is_telecommunications

),

final as (

    select
        summed.billing_period,
        summed.filing_quarter,
        summed.category,
        summed.is_telecommunications,
        cast(summed.charge_count as bigint) as charge_count,
        cast(summed.end_user_revenue_micros as bigint) as end_user_revenue_micros,
        cast(
            summed.end_user_revenue_micros - summed.interstate_micros - summed.international_micros
            as bigint
        ) as intrastate_micros,
        cast(summed.interstate_micros as bigint) as interstate_micros,
        cast(summed.international_micros as bigint) as international_micros,
        usf_factors.factor_ppm as usf_factor_ppm,
        case
            when summed.is_telecommunications
                then {{ ppm_of_micros(
                    'summed.interstate_micros + summed.international_micros',
                    'usf_factors.factor_ppm'
                ) }}
            else 0
        end as usf_contribution_micros,
        cast(summed.usf_billed_micros as bigint) as usf_billed_micros
    from summed
    left join usf_factors
        on summed.filing_quarter = usf_factors.filing_quarter

)

select * from final
