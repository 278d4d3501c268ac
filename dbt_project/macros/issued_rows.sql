{#-
    The rows of a versioned lake table (recurring_charges, billed_charges, tax_lines) that
    the period's invoices were issued from: the current partition while the invoices show
    the current rating version, the kept copy in `<table>_versions` once a re-rating has
    superseded it. An issued invoice never changes; the re-rating reaches the customer as
    credit and debit notes (docs/billing.md, "Corrections").
-#}
{% macro issued_rows(current_model, table_name) %}

current_version as (

    select
        {{ current_model }}.*,
        rating_periods.rating_version
    from {{ ref(current_model) }} as {{ current_model }}
    inner join {{ ref('stg_lake__rating_periods') }} as rating_periods
        on {{ current_model }}.billing_period = rating_periods.billing_period

),

all_versions as (

    select * from current_version
    union all by name
    select * from {{ lake_source(table_name ~ '_versions') }}

),

issued_versions as (

    select distinct
        billing_period,
        rating_version
    from {{ ref('stg_lake__invoices') }}

),

issued as (

    select all_versions.* exclude (rating_version)
    from all_versions
    inner join issued_versions
        on
            all_versions.billing_period = issued_versions.billing_period
            and all_versions.rating_version = issued_versions.rating_version

)

{% endmacro %}
