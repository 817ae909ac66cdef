"""AMB / MyLaps P3: codec (pure) and the link logic shared by the TCP and serial transports."""
