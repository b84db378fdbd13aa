/** The shapes of EC2 resource ids (8 or 17 hex digits after the prefix). */
export const ID_PATTERNS = {
  networkInterface: /^eni-[0-9a-f]{8}([0-9a-f]{9})?$/,
  instance: /^i-[0-9a-f]{8}([0-9a-f]{9})?$/,
  subnet: /^subnet-[0-9a-f]{8}([0-9a-f]{9})?$/,
  attachment: /^eni-attach-[0-9a-f]{8}([0-9a-f]{9})?$/,
} as const;
