{#-
    The USF line item on a bill never exceeds the contribution factor times the interstate
    charges on it (FCC: a carrier may not recover more through its federal USF line item).
    Per invoice: the USF billed <= floor(factor x interstate and international amount of
    the charges that carry a USF line), with the factor the quarter's published one, not
    the rate the tax lines say they used. An invoice whose credits outweigh its interstate
    charges refunds USF: a refund recovers nothing, so its cap is 0, not the (negative)
    factor times a negative amount, which rounding down would put below the refund. Rows
    returned are violations.
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

usf_lines as (

    select
        billing_period,
        account_id,
        charge_id,
        sum(tax_micros) as usf_micros
    from tax_lines
    where tax_type = 'usf' and is_billable
    group by billing_period, account_id, charge_id

),

per_invoice as (

    select
        usf_lines.billing_period,
        usf_lines.account_id,
        sum(usf_lines.usf_micros) as usf_billed_micros,
        sum(billed_charges.interstate_micros) as interstate_micros
    from usf_lines
    inner join billed_charges
        on
            usf_lines.billing_period = billed_charges.billing_period
            and usf_lines.charge_id = billed_charges.charge_id
    group by usf_lines.billing_period, usf_lines.account_id

),

capped as (

    select
        per_invoice.*,
        usf_factors.factor_ppm,
        greatest(
            (cast(per_invoice.interstate_micros as hugeint) * usf_factors.factor_ppm)
            // 1000000,
            0
        ) as cap_micros
    from per_invoice
    left join usf_factors
        on {{ billing_period_quarter('per_invoice.billing_period') }} = usf_factors.filing_quarter

)

select *
from capped
where factor_ppm is null or usf_billed_micros > cap_micros
