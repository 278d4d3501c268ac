{#-
    credit_above_authority: an applied credit above what finance's authority matrix
    (credit_authority.csv) lets its approver grant: more than the approver's max_credit_micros,
    or a credit type the approver may not grant, or an approver the matrix does not hold
    (authority 0). Without a matrix (no credit_authority.csv) the control finds nothing:
    finance has stated no authority to check. The billing gate trusts the CRM row's own approval_limit_micros; this
    control does not. Amount at risk: the excess over the authority (the whole credit when
    the approver has none for the type).
-#}
with

applied_credits as (

    select * from {{ ref('int_applied_credits_enriched') }}

),

credit_authority as (

    select * from {{ ref('stg_reference__credit_authority') }}

),

checked as (

    select
        applied_credits.*,
        credit_authority.approver_role,
        credit_authority.max_credit_micros,
        case
            when
                credit_authority.approved_by is not null
                and list_contains(
                    credit_authority.adjustment_types, applied_credits.adjustment_type
                )
                then credit_authority.max_credit_micros
            else 0
        end as authority_micros
    from applied_credits
    left join credit_authority
        on applied_credits.approved_by = credit_authority.approved_by
    where exists (select matrix_rows.approved_by from credit_authority as matrix_rows)

),

final as (

    select
        billing_period,
        'credit_above_authority' as category,
        'adjustment' as subject_type,
        adjustment_id as subject_id,
        adjustment_id as subject_key,
        cast(1 as bigint) as record_count,
        amount_micros - authority_micros as amount_at_risk_micros,
        'credit less the approver''s authority for the credit type (credit_authority.csv)'
            as estimation_method,
        json_object(
            'adjustment_id', adjustment_id,
            'adjustment_type', adjustment_type,
            'account_id', account_id,
            'amount_micros', amount_micros,
            'approved_by', approved_by,
            'approver_role', approver_role,
            'authority_micros', authority_micros,
            'crm_approval_limit_micros', approval_limit_micros
        ) as evidence
    from checked
    where amount_micros > authority_micros

)

select * from final
