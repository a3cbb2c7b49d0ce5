-- Every raw accounts version of the `storage` source, typed, with its reject reason (NULL = valid).
{{ stage_account_versions('storage', 'accounts') }}
