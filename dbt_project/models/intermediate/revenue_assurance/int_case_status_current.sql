{#-
    Each case's current analyst status: its latest change in the lake's append-only history
    (stg_lake__case_status_changes). Only cases an analyst changed have a row; a finding or
    alert without one is open (join with a left join and coalesce(case_status, 'open')).
-#}
with

case_status_changes as (

    select * from {{ ref('stg_lake__case_status_changes') }}

),

latest as (

    select *
    from case_status_changes
    qualify row_number() over (partition by case_id order by change_seq desc) = 1

),

final as (

    select
        case_id,
        case_kind,
        billing_period,
        to_status as case_status,
        changed_at as status_changed_at,
        changed_by,
        recovered_micros
    from latest

)

select * from final
