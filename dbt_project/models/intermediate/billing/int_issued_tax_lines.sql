{#- The tax lines of each period as its invoices were issued (macros/issued_rows.sql). -#}
with

{{ issued_rows('stg_lake__tax_lines', 'tax_lines') }}

-- The columns are the lake table's own, as its staging model lists them.
select * from issued  -- noqa: AM04
