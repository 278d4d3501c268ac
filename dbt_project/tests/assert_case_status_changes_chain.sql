{#-
    A case's history is one chain: each change starts where the one before it ended (the
    first from open), and nothing follows a recovery. Rows returned are the changes that
    break it.
-#}
with

history as (

    select * from {{ ref('fct_case_status_history') }}

),

chained as (

    select
        change_id,
        from_status,
        change_seq,
        lag(to_status) over (partition by case_id order by change_seq) as previous_status,
        lag(change_seq) over (partition by case_id order by change_seq) as previous_seq
    from history

),

final as (

    select *
    from chained
    where
        from_status is distinct from coalesce(previous_status, 'open')
        or change_seq is distinct from coalesce(previous_seq, 0) + 1
        or previous_status = 'recovered'

)

select * from final
