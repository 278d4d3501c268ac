{{ config(alias='cpni_masking') }}

{#-
    How this store's tokens were made: the algorithm, the token length and the fingerprint
    of the key (never the key). Tokens of two stores join only when their key_id is equal.
-#}
select
    'HMAC-SHA-256' as algorithm,
    length(cpni_token('')) as token_hex_chars,
    cpni_key_id() as key_id
