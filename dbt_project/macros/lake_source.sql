{#-
    The relation of a lake table, or an empty relation with the table's declared column types
    when no partition file exists yet (read_parquet fails on a glob that matches nothing).
    Mediation writes a file per partition even when it is empty, so the fallback only matters
    before a table's first partition, e.g. interconnect legs of an operator without trunks.
    A declared type is any DuckDB type, list types included (`varchar[]`): it is only cast to.
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
    {{ return(empty_relation(node)) }}
{% endmacro %}

{#- An empty relation with a source node's declared columns and types. -#}
{% macro empty_relation(node) %}
    {%- set columns = [] -%}
    {%- for column in node.columns.values() -%}
        {%- do columns.append('cast(null as ' ~ column.data_type ~ ') as ' ~ column.name) -%}
    {%- endfor -%}
    {{ return('(select ' ~ columns | join(', ') ~ ' where false)') }}
{% endmacro %}

{#-
    The partition files of a lake table (one `file` column: the path of each part file its
    lake_glob matches), for what the rows cannot tell, such as a partition written empty.
-#}
{% macro lake_partition_files(table_name) %}
    {#- Called for the lineage: the model depends on the source. -#}
    {%- do source('lake', table_name) -%}
    {%- if not execute -%}
        {{ return('(select cast(null as varchar) as file where false)') }}
    {%- endif -%}
    {%- set node = graph.sources['source.' ~ project_name ~ '.lake.' ~ table_name] -%}
    {{ return("glob('" ~ node.config.meta['lake_glob'] ~ "')") }}
{% endmacro %}
