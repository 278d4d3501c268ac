{#- The billed charges of each period as its invoices were issued (macros/issued_rows.sql). -#}
with

{{ issued_rows('stg_lake__billed_charges', 'billed_charges') }}

select * from issued
