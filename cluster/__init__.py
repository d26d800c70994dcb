"""The cluster proof (`make cluster-test`): workers in network namespaces, killed and cut off."""
