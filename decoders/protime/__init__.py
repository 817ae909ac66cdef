"""TAG Heuer / Chronelec Protime decoders: codec and transports (serial, UDP)."""
