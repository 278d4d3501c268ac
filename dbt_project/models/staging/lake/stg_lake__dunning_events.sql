with

source_rows as (

    select * from {{ lake_source('dunning_events') }}

),

renamed as (

    select
        billing_period,
        account_id,
        invoice_id,
        stage,
        trigger_date,
        open_micros_at_trigger,
        dunning_status
    from source_rows

)

select * from renamed
