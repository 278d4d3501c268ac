with

source_rows as (

    select * from {{ lake_source('ar_aging') }}

),

renamed as (

    select
        billing_period,
        account_id,
        as_of_date,
        current_micros,
        past_due_1_30_micros,
        past_due_31_60_micros,
        past_due_61_90_micros,
        past_due_over_90_micros,
        total_open_micros,
        unapplied_credit_micros,
        net_balance_micros
    from source_rows

)

select * from renamed
