{#- First day of a `YYYY-MM` billing period (a calendar month in the operator's time zone). -#}
{% macro billing_period_start(billing_period) -%}
    cast({{ billing_period }} || '-01' as date)
{%- endmacro %}

{#- Last day of a `YYYY-MM` billing period. -#}
{% macro billing_period_end(billing_period) -%}
    cast(last_day(cast({{ billing_period }} || '-01' as date)) as date)
{%- endmacro %}

{#-
    Parts-per-million of an amount of micros, rounded half-up (away from zero) to the micro
    in integer arithmetic: no float ever touches money. hugeint keeps base x ppm exact.
-#}
{% macro ppm_of_micros(base_micros, rate_ppm) -%}
    cast(
        case
            when {{ base_micros }} >= 0
                then (cast({{ base_micros }} as hugeint) * {{ rate_ppm }} + 500000) // 1000000
            else -((-cast({{ base_micros }} as hugeint) * {{ rate_ppm }} + 500000) // 1000000)
        end
        as bigint
    )
{%- endmacro %}

{#- The calendar quarter of a `YYYY-MM` billing period as `YYYYQn` (USF factors, Form 499-Q). -#}
{% macro billing_period_quarter(billing_period) -%}
    (left({{ billing_period }}, 4) || 'Q' || cast((cast(right({{ billing_period }}, 2) as integer) + 2) // 3 as varchar))
{%- endmacro %}

{#-
    An amount of micros rounded to the cent, half away from zero (docs/billing.md,
    "Rounding"): pipelines.billing.charges.round_to_cent.
-#}
{% macro cent_half_away(micros) -%}
    cast(sign({{ micros }}) * ((abs({{ micros }}) + 5000) // 10000) * 10000 as bigint)
{%- endmacro %}

{#- An amount of micros rounded to the cent toward zero: a USF line item never rounds above its cap. -#}
{% macro cent_toward_zero(micros) -%}
    cast(sign({{ micros }}) * (abs({{ micros }}) // 10000) * 10000 as bigint)
{%- endmacro %}

{#- A tax's invoice line from its exact sum: USF toward zero, every other tax half away from zero. -#}
{% macro invoiced_tax(tax_micros, is_usf) -%}
    case
        when {{ is_usf }} then {{ cent_toward_zero(tax_micros) }}
        else {{ cent_half_away(tax_micros) }}
    end
{%- endmacro %}
