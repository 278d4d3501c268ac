{#-
    What each usage charge of the issued invoices is made of (lake `billed_charge_usage` as
    the period's invoices were issued, macros/issued_rows.sql): its rated records
    (link_source `rated_usage`) and its aggregate-priced charges (`usage_aggregate_charges`).
-#}
with

{{ issued_rows('stg_lake__billed_charge_usage', 'billed_charge_usage') }}

-- The columns are the lake table's own, as its staging model lists them.
select * from issued  -- noqa: AM04
