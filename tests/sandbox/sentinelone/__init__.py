"""The SentinelOne simulator: filters, sorting, paging, errors, the POST actions and the payload contract."""
