with

source_rows as (

    select * from {{ reference_source('churn_scores') }}

),

renamed as (

    select
        account_id,
        cast(scored_on as date) as scored_on,
        cast(churn_score as decimal(5, 4)) as churn_score
    from source_rows

)

select * from renamed
