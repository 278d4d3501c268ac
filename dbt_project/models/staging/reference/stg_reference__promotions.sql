with

source_rows as (

    select * from {{ reference_source('promotions') }}

),

renamed as (

    select
        promotion_id,
        promotion_name,
        case
            when nullif(trim(plan_ids), '') is not null then string_split(trim(plan_ids), ' ')
        end as plan_ids,
        service_type,
        case
            when nullif(trim(account_classes), '') is not null
                then string_split(trim(account_classes), ' ')
        end as account_classes,
        cast(activated_from as date) as activated_from,
        cast(activated_to as date) as activated_to,
        cast(credit_months as integer) as credit_months,
        first_period,
        last_period
    from source_rows

)

select * from renamed
