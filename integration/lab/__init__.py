"""Building blocks of the lab VM's scenarios: namespaces, links, NAT, peers, captures, processes."""
