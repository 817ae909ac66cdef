"""Race Result decoders (TCP 3601): codec and transport."""
