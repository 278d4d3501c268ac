{#-
    Every TAP file of a period, the partners' and ours, with what became of it in settlement
    (settled, returned with a RAP, not returnable, already settled, not addressed to us,
    empty, sent) and, for a returned one, its RAP file.
-#}
with

files as (

    select * from {{ ref('stg_lake__roaming_files') }}

),

returns as (

    select * from {{ ref('stg_lake__rap_returns') }}

),

final as (

    select
        files.billing_period,
        files.direction,
        files.tadig,
        files.sender,
        files.recipient,
        files.file_name,
        files.file_path,
        files.file_id,
        files.file_sequence_number,
        files.file_kind,
        files.file_date,
        files.file_created_at,
        files.events,
        files.total_charge_micros,
        files.tap_currency,
        files.file_status,
        returns.reason_code as return_reason_code,
        returns.reason_detail as return_reason_detail,
        returns.rap_file_name
    from files
    left join returns
        on
            files.billing_period = returns.billing_period
            and files.file_id = returns.file_id

)

select * from final
