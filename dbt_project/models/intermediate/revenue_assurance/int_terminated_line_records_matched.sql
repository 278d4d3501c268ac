{#-
    Usage records of lines after their cancellation: the record's line (subscriber_id, when
    rating resolved one) or the line that held its served number or IMSI was cancelled on or
    before the event's day, and no line in service that day holds the number or IMSI (a
    recycled number is its new holder's usage). Roaming records (TAP) are left to
    roaming_not_passed_on, which values them at what the partner charges. One row per
    record, with the cancelled line.
-#}
with

rated_usage_records as (

    select * from {{ ref('stg_lake__rated_usage_records') }}

),

subscribers as (

    select * from {{ ref('stg_reference__subscribers') }}

),

cancelled_lines as (

    select
        subscriber_id,
        account_id,
        msisdn,
        imsi,
        cancelled_date
    from subscribers
    where cancelled_date is not null

),

matched as (

    select
        rated_usage_records.usage_id,
        rated_usage_records.billing_period,
        rated_usage_records.event_date,
        rated_usage_records.rating_status,
        rated_usage_records.charge_micros,
        cancelled_lines.subscriber_id,
        cancelled_lines.account_id,
        cancelled_lines.cancelled_date
    from rated_usage_records
    inner join cancelled_lines
        on
            rated_usage_records.event_date >= cancelled_lines.cancelled_date
            and (
                rated_usage_records.subscriber_id = cancelled_lines.subscriber_id
                or (
                    rated_usage_records.subscriber_id is null
                    and (
                        rated_usage_records.served_msisdn = cancelled_lines.msisdn
                        or rated_usage_records.served_imsi = cancelled_lines.imsi
                    )
                )
            )
    where
        rated_usage_records.rating_status != 'not_billable'
        and rated_usage_records.feed != 'tap3'
        and not exists (
            select 1
            from subscribers as holders
            where
                holders.activated_date <= rated_usage_records.event_date
                and (
                    holders.cancelled_date is null
                    or holders.cancelled_date > rated_usage_records.event_date
                )
                and (
                    holders.msisdn = rated_usage_records.served_msisdn
                    or holders.imsi = rated_usage_records.served_imsi
                )
        )
    qualify row_number() over (
        partition by rated_usage_records.usage_id
        order by cancelled_lines.cancelled_date desc, cancelled_lines.subscriber_id asc
    ) = 1

)

select * from matched
