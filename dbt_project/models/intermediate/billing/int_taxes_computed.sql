{#-
    Every tax rule that applies to an account in a billing period, billable or not.

    - Version: per tax (jurisdiction level and code, tax name, charge category, service type)
      the version with the latest effective_from on or before the period start applies.
    - Jurisdiction: by the account's service address. Federal rules apply to every account,
      state rules by state code, county and city rules by name (case-insensitive).
    - Exemption: an account class listed in exempt_account_classes (`|`-separated) is exempt.
    - Base: `usage` taxes the rated usage charges of the rule's service type (`all`: every
      type), `recurring` the recurring charges, `all` both.
    - Amount: `percent` is base x rate_ppm / 1e6 on the account's total base per rule,
      rounded half-up to the micro in integer arithmetic (one rounding per account and rule,
      not per line); `per_line` is amount_micros per active line (a subscriber with at least
      one active day in the period) of the rule's service type.
    - A rule yields a row only when the account has a charge in the rule's base (percent) or
      an active line (per_line).
-#}
with

tax_bases as (

    select * from {{ ref('int_tax_bases_aggregated') }}

),

tax_rules as (

    select * from {{ ref('stg_reference__tax_rules') }}

),

accounts as (

    select * from {{ ref('stg_reference__accounts') }}

),

service_addresses as (

    select * from {{ ref('stg_reference__service_addresses') }}

),

account_periods as (

    select distinct
        tax_bases.account_id,
        tax_bases.billing_period,
        tax_bases.period_start_date,
        accounts.account_class,
        service_addresses.state,
        service_addresses.county,
        service_addresses.city
    from tax_bases
    left join accounts
        on tax_bases.account_id = accounts.account_id
    left join service_addresses
        on accounts.service_address_id = service_addresses.service_address_id

),

applicable_rules as (

    select
        account_periods.account_id,
        account_periods.billing_period,
        tax_rules.tax_rule_id,
        tax_rules.tax_name,
        tax_rules.jurisdiction_level,
        tax_rules.jurisdiction_code,
        tax_rules.charge_category,
        tax_rules.service_type,
        tax_rules.calculation_method,
        tax_rules.rate_ppm,
        tax_rules.amount_micros,
        tax_rules.is_billable,
        tax_rules.exempt_account_classes,
        account_periods.account_class
    from account_periods
    inner join tax_rules
        on
            account_periods.period_start_date >= tax_rules.effective_from
            and (
                tax_rules.jurisdiction_level = 'federal'
                or (
                    tax_rules.jurisdiction_level = 'state'
                    and upper(tax_rules.jurisdiction_code) = upper(account_periods.state)
                )
                or (
                    tax_rules.jurisdiction_level = 'county'
                    and lower(tax_rules.jurisdiction_code) = lower(account_periods.county)
                )
                or (
                    tax_rules.jurisdiction_level = 'city'
                    and lower(tax_rules.jurisdiction_code) = lower(account_periods.city)
                )
            )
    qualify row_number() over (
        partition by
            account_periods.account_id,
            account_periods.billing_period,
            tax_rules.jurisdiction_level,
            tax_rules.jurisdiction_code,
            tax_rules.tax_name,
            tax_rules.charge_category,
            tax_rules.service_type
        order by tax_rules.effective_from desc, tax_rules.tax_rule_id desc
    ) = 1

),

non_exempt_rules as (

    select *
    from applicable_rules
    where not list_contains(
        string_split(exempt_account_classes, '|'), coalesce(account_class, '')
    )

),

rule_bases as (

    select
        non_exempt_rules.account_id,
        non_exempt_rules.billing_period,
        non_exempt_rules.tax_rule_id,
        sum(
            case non_exempt_rules.charge_category
                when 'usage' then tax_bases.usage_micros
                when 'recurring' then tax_bases.recurring_micros
                else tax_bases.usage_micros + tax_bases.recurring_micros
            end
        ) as base_micros,
        sum(
            case non_exempt_rules.charge_category
                when 'usage' then tax_bases.usage_lines
                when 'recurring' then tax_bases.recurring_lines
                else tax_bases.usage_lines + tax_bases.recurring_lines
            end
        ) as base_lines,
        sum(tax_bases.active_lines) as active_lines
    from non_exempt_rules
    inner join tax_bases
        on
            non_exempt_rules.account_id = tax_bases.account_id
            and non_exempt_rules.billing_period = tax_bases.billing_period
            and (
                non_exempt_rules.service_type = 'all'
                or non_exempt_rules.service_type = tax_bases.service_type
            )
    group by
        non_exempt_rules.account_id,
        non_exempt_rules.billing_period,
        non_exempt_rules.tax_rule_id

),

computed as (

    select
        non_exempt_rules.account_id,
        non_exempt_rules.billing_period,
        non_exempt_rules.tax_rule_id,
        non_exempt_rules.tax_name,
        non_exempt_rules.jurisdiction_level,
        non_exempt_rules.jurisdiction_code,
        non_exempt_rules.charge_category,
        non_exempt_rules.service_type,
        non_exempt_rules.calculation_method,
        non_exempt_rules.is_billable,
        non_exempt_rules.rate_ppm,
        non_exempt_rules.amount_micros as amount_per_line_micros,
        cast(rule_bases.base_micros as bigint) as base_micros,
        cast(rule_bases.active_lines as bigint) as active_lines,
        case non_exempt_rules.calculation_method
            when 'percent'
                then {{ ppm_of_micros('rule_bases.base_micros', 'non_exempt_rules.rate_ppm') }}
            when 'per_line'
                then non_exempt_rules.amount_micros * rule_bases.active_lines
        end as tax_micros
    from non_exempt_rules
    inner join rule_bases
        on
            non_exempt_rules.account_id = rule_bases.account_id
            and non_exempt_rules.billing_period = rule_bases.billing_period
            and non_exempt_rules.tax_rule_id = rule_bases.tax_rule_id
    where
        (non_exempt_rules.calculation_method = 'percent' and rule_bases.base_lines > 0)
        or (non_exempt_rules.calculation_method = 'per_line' and rule_bases.active_lines > 0)

),

final as (

    select
        account_id,
        billing_period,
        tax_rule_id,
        tax_name,
        jurisdiction_level,
        jurisdiction_code,
        charge_category,
        service_type,
        calculation_method,
        is_billable,
        rate_ppm,
        amount_per_line_micros,
        base_micros,
        active_lines,
        cast(tax_micros as bigint) as tax_micros
    from computed

)

select * from final
