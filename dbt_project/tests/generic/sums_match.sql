{#-
    Totals of `value` in the model per `group_by` equal the totals of `compare_value` in
    `compare_to` (a ref or source), both optionally filtered. Groups present on one side only
    compare with 0. Returns the groups that do not tie.
-#}
{% test sums_match(
    model,
    group_by,
    value,
    compare_to,
    compare_value,
    model_filter='true',
    compare_filter='true'
) %}

with

model_sums as (

    select
        {% for column in group_by %}{{ column }}, {% endfor %}
        sum({{ value }}) as model_total
    from {{ model }}
    where {{ model_filter }}
    group by {{ group_by | join(', ') }}

),

compare_sums as (

    select
        {% for column in group_by %}{{ column }}, {% endfor %}
        sum({{ compare_value }}) as compare_total
    from {{ compare_to }}
    where {{ compare_filter }}
    group by {{ group_by | join(', ') }}

)

select
    *,
    coalesce(model_total, 0) - coalesce(compare_total, 0) as difference
from model_sums
full outer join compare_sums using ({{ group_by | join(', ') }})
where coalesce(model_total, 0) <> coalesce(compare_total, 0)

{% endtest %}
