{{ config(alias='fct_case_status_history') }}

with

changes as (

    select * from {{ ref('fct_case_status_history') }}

),

final as (

    select
        cpni_token(case_id) || '-' || change_seq as change_id,
        cpni_token(case_id) as case_id,
        case_kind,
        billing_period,
        change_seq,
        from_status,
        to_status,
        changed_at,
        changed_by,
        cpni_mask_text(note) as note,
        recovered_micros,
        is_current
    from changes

)

select * from final
