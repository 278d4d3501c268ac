with

source_rows as (

    select * from {{ source('reference', 'tax_rules') }}

),

renamed as (

    select
        tax_rule_id,
        tax_name,
        jurisdiction_level,
        jurisdiction_code,
        charge_category,
        service_type,
        calculation_method,
        cast(coalesce(rate_ppm, '0') as bigint) as rate_ppm,
        cast(coalesce(amount_micros, '0') as bigint) as amount_micros,
        coalesce(exempt_account_classes, '') as exempt_account_classes,
        cast(is_billable as boolean) as is_billable,
        cast(effective_from as date) as effective_from
    from source_rows

)

select * from renamed
