{#-
    The relation of a lake table, or an empty relation with the table's declared column types
    when no partition file exists yet (read_parquet fails on a glob that matches nothing).
    Mediation writes a file per partition even when it is empty, so the fallback only matters
    before a table's first partition, e.g. interconnect legs of an operator without trunks.
-#}
{% macro lake_source(table_name) %}
    {%- set relation = source('lake', table_name) -%}
    {%- if not execute -%}
        {{ return(relation) }}
    {%- endif -%}
    {%- set node = graph.sources['source.' ~ project_name ~ '.lake.' ~ table_name] -%}
    {%- set pattern = node.config.meta['lake_glob'] -%}
    {%- set matched = run_query("select count(*) from glob('" ~ pattern ~ "')") -%}
    {%- if matched.columns[0].values()[0] > 0 -%}
        {{ return(relation) }}
    {%- endif -%}
    {%- set columns = [] -%}
    {%- for column in node.columns.values() -%}
        {%- do columns.append('cast(null as ' ~ column.data_type ~ ') as ' ~ column.name) -%}
    {%- endfor -%}
    {{ return('(select ' ~ columns | join(', ') ~ ' where false)') }}
{% endmacro %}
