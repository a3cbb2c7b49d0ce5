-- Every raw renters version of the `storage_network` source, typed, with its reject reason (NULL = valid).
{{ stage_account_versions('storage_network', 'renters') }}
