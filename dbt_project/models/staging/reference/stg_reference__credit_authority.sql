with

source_rows as (

    select * from {{ reference_source('credit_authority') }}

),

renamed as (

    select
        approved_by,
        approver_role,
        cast(max_credit_micros as bigint) as max_credit_micros,
        string_split(trim(adjustment_types), ' ') as adjustment_types
    from source_rows

)

select * from renamed
