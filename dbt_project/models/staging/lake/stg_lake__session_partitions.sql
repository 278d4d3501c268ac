{#-
    The partitions of the lake's `sessions` table, read from the file listing rather than
    the rows: consolidation writes a (feed, billing_period) partition even when the period
    has no session, and only the listing shows that the period was consolidated.
-#}
with

partition_files as (

    select * from {{ lake_partition_files('sessions') }}

),

renamed as (

    -- One file per line bucket of each (feed, billing_period): one row for them all.
    select distinct
        regexp_extract(file, '/feed=([^/]+)/billing_period=[^/]+/line_bucket=[^/]+/[^/]+$', 1)
            as feed,
        regexp_extract(file, '/feed=[^/]+/billing_period=([^/]+)/line_bucket=[^/]+/[^/]+$', 1)
            as billing_period
    from partition_files

)

select * from renamed
