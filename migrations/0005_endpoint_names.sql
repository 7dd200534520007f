-- Every name the Brands bundle gives an endpoint, and its managing organization's own name.
-- Several Endpoint resources can share one address (one per brand the organization serves):
-- all their names are kept, so that a later one carrying the organization's exact name is not
-- lost. managingOrganization.display is the name of the organization the keys are registered
-- with (Epic's words), the first name to compare with the management page's.
ALTER TABLE brand_endpoints ADD COLUMN names TEXT NOT NULL DEFAULT '[]'; -- Endpoint.name of every resource on the address, JSON
ALTER TABLE brand_endpoints ADD COLUMN display TEXT NOT NULL DEFAULT ''; -- managingOrganization.display
