{{ config(alias='rpt_file_sequence_gaps') }}

{#- No column names a subscriber, a number or a person: every one is kept. -#}
with

file_sequence_gaps as (

    select * from {{ ref('rpt_file_sequence_gaps') }}

),

final as (

    select
        sequence_anomaly_id,
        feed,
        switch_id,
        sequence_anomaly,
        first_sequence_number,
        last_sequence_number,
        file_count,
        file_before,
        file_after,
        detected_file_date
    from file_sequence_gaps

)

select * from final
