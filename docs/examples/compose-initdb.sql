-- compose.yaml: the reference vendor keeps its own database beside the mock platform's.
CREATE DATABASE vendor OWNER jzgr;
