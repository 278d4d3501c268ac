{#-
    A model's custom schema is used as written (`restricted`), not prefixed with the
    target's (`main_restricted`): the CPNI roles (docs/privacy.md) name their schemas.
    Models without one stay in the target schema, as before.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
