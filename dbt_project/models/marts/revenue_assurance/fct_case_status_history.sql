{#-
    Every analyst status change of a leakage finding or fraud alert, oldest first per case,
    as the lake's append-only history keeps it; is_current marks each case's latest change.
-#}
with

case_status_changes as (

    select * from {{ ref('stg_lake__case_status_changes') }}

),

final as (

    select
        change_id,
        case_id,
        case_kind,
        billing_period,
        change_seq,
        from_status,
        to_status,
        changed_at,
        changed_by,
        note,
        recovered_micros,
        change_seq = max(change_seq) over (partition by case_id) as is_current
    from case_status_changes

)

select * from final
