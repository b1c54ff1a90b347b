"""IKE keying: sans-IO IKEv2/IKEv1 engines, the wire codec, the algorithm table and crypto."""
