{{ config(alias='rpt_file_conservation') }}

{#- No column names a subscriber, a number or a person: every one is kept. -#}
with

file_conservation as (

    select * from {{ ref('rpt_file_conservation') }}

),

final as (

    select
        feed,
        switch_id,
        file_name,
        file_id,
        file_date,
        file_status,
        records_in,
        records_accepted,
        records_rejected,
        records_duplicate,
        records_fixed,
        records_repeated,
        records_partial,
        records_held,
        is_balanced
    from file_conservation

)

select * from final
