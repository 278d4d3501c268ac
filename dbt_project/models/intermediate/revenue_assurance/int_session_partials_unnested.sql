{#- One row per partial record of a session: the session's partial_usage_ids unnested. -#}
with

sessions as (

    select * from {{ ref('stg_lake__sessions') }}

),

unnested as (

    select
        usage_id as session_usage_id,
        feed,
        switch_id,
        session_key,
        billing_period,
        correlation_status,
        unnest(partial_usage_ids) as partial_usage_id
    from sessions

)

select * from unnested
