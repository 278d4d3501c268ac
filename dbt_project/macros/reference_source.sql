{#-
    The relation of an optional reference file, or an empty relation with the source's
    declared columns when the file is absent (read_csv fails on a missing file). Reference
    files read as text (all_varchar), so the declared types are varchar and the staging
    model casts, as it does for a file that is present.
-#}
{% macro reference_source(table_name) %}
    {%- set relation = source('reference', table_name) -%}
    {%- if not execute -%}
        {{ return(relation) }}
    {%- endif -%}
    {%- set node = graph.sources['source.' ~ project_name ~ '.reference.' ~ table_name] -%}
    {%- set path = node.config.meta['reference_file'] -%}
    {%- set matched = run_query("select count(*) from glob('" ~ path ~ "')") -%}
    {%- if matched.columns[0].values()[0] > 0 -%}
        {{ return(relation) }}
    {%- endif -%}
    {{ return(empty_relation(node)) }}
{% endmacro %}
