-- Every raw accounts version of the `compute` source, typed, with its reject reason (NULL = valid).
{{ stage_account_versions('compute', 'accounts') }}
