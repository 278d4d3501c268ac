with

source_rows as (

    select * from {{ reference_source('port_requests') }}

),

renamed as (

    select
        request_id,
        subscriber_id,
        msisdn,
        direction,
        other_carrier,
        cast(requested_date as date) as requested_date,
        cast(completed_date as date) as completed_date,
        request_status
    from source_rows

)

select * from renamed
