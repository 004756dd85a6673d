-- An invitation's code_prefix is the beginning of its code exactly as it was shown,
-- "inv_" included; rows written before held only the eight characters after it.
UPDATE invitations SET code_prefix = 'inv_' || code_prefix WHERE substr(code_prefix, 1, 4) <> 'inv_';
